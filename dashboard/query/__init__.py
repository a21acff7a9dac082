"""What is being looked at and the one load behind it: time ranges, the selection, and the sources read through the cache."""
