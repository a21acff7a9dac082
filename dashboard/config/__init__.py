"""What the operator configured: the validated settings (``settings``) and who may see which teams (``access``)."""
