"""E-mail bulletin: the post sent to a subscriber list through GovDelivery, Mailchimp or Listmonk."""
