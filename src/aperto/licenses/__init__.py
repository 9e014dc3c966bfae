"""The licence knowledge base and its readers. Pure: no I/O beyond reading
package data and the files the caller names; no network, no database."""
