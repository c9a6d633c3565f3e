"""Server-rendered pages in Simplified Chinese, over the same domain services as the API."""
