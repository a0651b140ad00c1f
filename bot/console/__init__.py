"""The specialists' console: a small sanic app over the case queue (``bot.handoff``).

Specialists log in, claim cases from the queue, talk to the cardholder, decide plan
applications and hand the conversation back to the bot; supervisors also see the dashboard.
"""
