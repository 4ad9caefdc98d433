# 预警收件箱：静默与实时更新。
silence-open = 静默…
silence-reason = 原因
silence-until = 静默至（UTC）
silence-submit = 静默
silence-no-reason = 请说明静默该预警的原因。
silence-not-after-now = 静默的结束时间必须晚于现在。
silence-bad-until = 请填写日期和时间，例如 2026-12-31 18:00。
alerts-live-updated = 预警列表已更新。
alerts-live-new = 有新的预警记录。
alerts-live-reload = 重新载入列表
