"""«Мектепке жол» report pipeline: plan → forms → ingest → validate → aggregate → render."""
