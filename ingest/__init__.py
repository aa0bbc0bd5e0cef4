"""Files → notes → chunks → vectors, incrementally."""
