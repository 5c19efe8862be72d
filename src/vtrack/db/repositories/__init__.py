"""Every query the application makes lives here, one module per aggregate."""
