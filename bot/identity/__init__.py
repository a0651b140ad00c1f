"""Who a conversation is: verified sessions kept on the server, the knowledge check with its
throttles, the widget's signed login tokens and Telegram's account links (docs/security.md)."""
