"""The Streamlit surface's own pieces: the frame every page shares and the per-page view models (pages/ only lay out)."""
