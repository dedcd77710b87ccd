"""The mail face (issue 18), beside cli.py and portal/: the districts' e-mails fetched and answered, reminders
before and after each deadline, the report sent to leadership — over the same library calls.

    python -m pipeline mail fetch [--reply] [--send]    pipeline.mail.fetch.FetchJob
    python -m pipeline remind --date D [--send]         pipeline.mail.remind.remind
    python -m pipeline mail send --date D [--send]      pipeline.mail.report_mail.send_report
    python -m pipeline mail tick / serve                pipeline.mail.schedule.MailScheduler

Its internals are described in docs/mail.md.
"""
