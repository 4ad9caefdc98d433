# E-mails about stalled approvals (pilot_alerter::email). One message per alert transition
# that notifies. Arguments: $pilot (title), $approver (name or id), $level, $days (waited, in
# the threshold's unit), $threshold (days, extensions included), $unit (calendar_days or
# working_days), $escalation (level), $reason (a resolution's reason).

email-days = { $unit ->
    [working_days] { $days ->
        [one] { $days } working day
       *[other] { $days } working days
    }
   *[calendar_days] { $days ->
        [one] { $days } day
       *[other] { $days } days
    }
}

email-subject-warning = [{ $pilot }] Approval due soon: { $approver } has waited { $waited } of { $threshold }
email-subject-fired = [{ $pilot }] Approval stalled: { $approver } has waited { $waited } (threshold { $threshold })
email-subject-escalated = [{ $pilot }] Still stalled, level { $escalation }: { $approver } has waited { $waited } (threshold { $threshold })
email-subject-extended = [{ $pilot }] Threshold extended for { $approver } (now { $threshold })
email-subject-acknowledged = [{ $pilot }] Alert acknowledged: { $approver }
email-subject-silenced = [{ $pilot }] Alert silenced: { $approver }
email-subject-resolved = [{ $pilot }] Approval { $reason }: { $approver } after { $waited } (threshold { $threshold })

email-reason-granted = granted
email-reason-denied = denied
email-reason-withdrawn = withdrawn
email-reason-pilot_merged = ended (pilot merged)
email-reason-pilot_terminated = ended (pilot terminated)
email-reason-retracted = request retracted

email-level-county = county
email-level-municipal = municipal
email-level-provincial = provincial
email-level-national = national

email-intro-warning = An approval for this pilot will stall soon.
email-intro-fired = An approval for this pilot has stalled: it has waited longer than its threshold.
email-intro-escalated = An approval for this pilot is still stalled: another whole threshold has passed.
email-intro-extended = The threshold of an approval for this pilot was extended.
email-intro-acknowledged = An alert about this pilot was acknowledged.
email-intro-silenced = An alert about this pilot was silenced.
email-intro-resolved = The wait is over: the approval was { $reason }.

email-field-pilot = Pilot
email-field-approval = Approval
email-field-approver = Approver
email-field-requested = Requested
email-field-waited = Waited
email-field-threshold = Threshold
email-field-counted = Counted in
email-field-last-activity = Last activity on the pilot
email-field-at = Transition at
email-field-alert = Alert
email-footer = Sent by pilot-tracker. This message is one alert event; its subject on the alert stream is { $subject }.
