"""How figures are shown: the metric registry, formats, plotly figures, text tables, safe text and links."""
