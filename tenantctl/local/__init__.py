"""The embedded local AWS: moto in server mode, our resources, and our handlers run in-process."""
