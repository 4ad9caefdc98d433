# The alerts inbox: silencing and the live feed.
silence-open = Silence…
silence-reason = Reason
silence-until = Silenced until (UTC)
silence-submit = Silence
silence-no-reason = Say why the alert is silenced.
silence-not-after-now = The end of the silence must be later than now.
silence-bad-until = Give a date and time, for example 2026-12-31 18:00.
alerts-live-updated = The list of alerts was updated.
alerts-live-new = New alerts were recorded.
alerts-live-reload = Reload the list
