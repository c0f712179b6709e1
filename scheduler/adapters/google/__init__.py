"""What the Google channels (YouTube, Google Business Profile) share: OAuth 2.0 and the API error format."""
