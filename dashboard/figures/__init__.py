"""Every number the product shows, each defined once: usage, fleet tiles, spend, prices and estimates, allocation, advice."""
