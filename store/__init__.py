"""Where vectors, the lexical index and the manifest live."""
