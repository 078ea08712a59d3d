"""How figures are shown: labels and formats, charts, publication tables, file exports."""
