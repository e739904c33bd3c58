"""Test base pieces every app reuses: isolation walker, role matrix, audit assertions."""
