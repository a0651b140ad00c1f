"""How the shared Telegram test servers are configured (tests/telegram/conftest.py)."""

SECRET = "test-secret_0123456789"
API_TOKEN = "test-rasa-api-token"  # Rasa's HTTP API is off without a credential
PUBLIC_URL = "https://bot.example.invalid/webhooks/telegram/webhook"
