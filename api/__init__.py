"""Peyvand's interfaces to people and programs: the command line (`api.cli`) and the
FastAPI service with its Persian web pages (`api.main`)."""
