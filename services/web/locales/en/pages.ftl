# The pilot page's additions, the stakeholder page, the ledger and the dossier (issue 12,
# items 3, 4 and 9).

nav-ledger = Ledger

field-known-at = As known at
known-at-now = As known now.
known-at-day = As known at the end of { $date } (UTC): events logged later are not shown.
dossier-printed = Printed { $date }
dossier-position = log position { $position }

pilot-marks = Approvals, merges and scale-ups
mark-approval = Approval
mark-waited = waited { $days } days
mark-waiting = waiting { $days } days
mark-merged-into = Merged into
mark-merged-from = Merged into this pilot:
mark-scaled-up = Scaled up

pilot-coalition = Coalition (stance above zero)
pilot-opposition = Opposition (stance below zero)
pilot-contacts = Contacts over time
pilot-contacts-table = Every contact
field-channel = Channel
field-contacts-so-far = Contacts so far
chart-contacts-title = Contacts logged over time
chart-contacts-desc = { $count } contacts, counted as they were logged.

chart-metric-title = { $metric } over time
chart-readings = Readings of { $metric }
chart-target = target { $target }
chart-balance-title = Highlight balance of { $name } over time

pilot-chain = Hash chain
chain-all-ok = Verified: all { $count } stored events of this chain hold (each hash matches its content and links to the one before).
chain-has-broken = Broken: { $count } stored messages on this chain do not hold.
chain-unavailable = The log could not be read, so the chain was not verified.
chain-help = Verified in the service, as pilot verify does, over every message stored on this pilot's chain in the log.
chain-detail = Details
chain-link-ok = OK
chain-link-broken = Broken link
chain-unreadable = Not a stored event
chain-altered = Altered: its hash does not match its content
chain-out-of-place = Out of place: it does not follow the previous event
field-chain = Chain
field-chain-problem = Problem

error-no-stakeholder = There is no such stakeholder.
stakeholder-stances = Stance across pilots
stakeholder-contacts-total = { $count } contacts in all.
stakeholder-balance = Highlight balance over time
stakeholder-lines = The highlights credited to it
field-side = Side
field-registered = Registered
side-coalition = Coalition
side-opposition = Opposition
side-neutral = Neutral

ledger-title = Ledger
ledger-filter-label = Filter the ledger
ledger-help = Stakeholders ranked by the points of the political highlights credited to them; open one to read the lines behind its figure.
ledger-points = { $points } points
ledger-open-stakeholder = Open the page of { $name }
ledger-lines-of = The lines behind the points of { $name }
field-from = From
field-until = Until

timeline-desc = Stages, each from its entry: { $stages }.
timeline-desc-marks = { $count } marks (approvals with their wait, merges and scale-ups), listed under the timeline.
timeline-key-decided = Decided approval
timeline-key-merge = Merge
timeline-key-scale-up = Scale-up

# The comparative analytics page (issue 13).
nav-analytics = Analytics
analytics-title = Comparative analytics
analytics-help = Days are days of 24 hours; "—" is a group with nothing to measure.
analytics-overall = { $figure }: overall
analytics-by-level = { $figure }: by approver level
analytics-by-approver = { $figure }: by approver
analytics-all-pilots = All pilots
analytics-all-approvals = All approvals
analytics-scaled-pilots = Pilots scaled up
analytics-col-group = Group
analytics-col-count = Count
analytics-col-median = Median (days)
analytics-col-mean = Mean (days)
analytics-col-min = Minimum (days)
analytics-col-max = Maximum (days)
analytics-col-requested = Requested
analytics-col-stalled = Stalled
analytics-col-stalled-pending = Of which still pending
analytics-col-share = Share stalled
analytics-col-proposed = Proposed
analytics-col-to-approval = Days to approval
analytics-col-to-scale-up = Days to scale-up
analytics-col-year = Year
analytics-col-lines = Lines
analytics-to-approval = Proposal to approval
analytics-to-approval-help = From a pilot's proposal to its first approval, grouped by the level and the approver of the approvals granted in the round that approved it.
analytics-to-decision = Request to decision
analytics-to-decision-help = Every approval granted, denied or withdrawn, from its request to its decision; approvals ended by a merge or termination are left out.
analytics-stall-rate = Stall rate
analytics-stall-rate-help = Of the approvals requested, the share that waited until their recorded deadline or past it, decided or not.
analytics-scale-up = Time to scale-up
analytics-scale-up-help = From a pilot's proposal to its first scale-up.
analytics-scale-up-summary = Time to scale-up over the pilots scaled up
analytics-per-pilot = Each pilot's days to approval and to scale-up
analytics-points = Points per year
analytics-points-help = Each ledger line counts in full for every stakeholder and office it credits, in the year it happened.
analytics-points-stakeholders = Points per stakeholder and year
analytics-points-offices = Points per office and year
analytics-support = Support index over time
analytics-support-help = Each pilot's support index after every event that changed it.
analytics-support-of = Support index of { $title }
