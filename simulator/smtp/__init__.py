"""Email-to-SMS over SMTP."""
