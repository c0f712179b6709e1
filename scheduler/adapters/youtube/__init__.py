"""YouTube: a channel connected with Google sign-in; posts that carry a video are uploaded to it."""
