"""The release pipeline: raw Community Alignment CSV -> a Hub dataset release."""
