# pilot-tracker web app, English. Keys are shared with zh-CN/main.ftl; a test checks both
# have every key and that every key the pages use exists.

app-name = Pilot tracker
lang-name = English
skip-to-content = Skip to content
nav-label = Main
nav-overview = Overview
nav-alerts = Alerts
signed-in-as = Signed in as
reading-anonymously = Reading without signing in (demo)
signin = Sign in
signout = Sign out
footer = Policy pilots, as their event log records them.
none = None.

role-admin = administrator
role-clerk = clerk
role-analyst = analyst

signin-title = Sign in
signin-help = Sign in once with the API token an administrator gave you (`pilot token new`). The page keeps a session; the token is not stored in the browser.
signin-token = API token
signin-refused = This token is not known. Check it, or ask an administrator for one.
signin-expired = This token has expired. Ask an administrator for a new one.

overview-title = Pilots
overview-caption = Every pilot, with its stage and pending approvals
overview-count = { $count ->
    [one] one pilot
   *[other] { $count } pilots
}
overview-empty = No pilot matches these filters.
filter-label = Filter pilots
filter-any = Any
filter-stalled = Stalled approvals
filter-stalled-yes = Stalled
filter-stalled-no = Not stalled
filter-search = Title contains
filter-apply = Apply
filter-show = Show
as-of-now = As things stand now.
as-of-day = As of the end of { $date } (UTC).
pending-none = None pending

field-title = Title
field-pilot = Pilot
field-stage = Stage
field-office = Office
field-jurisdiction = Jurisdiction
field-policy-area = Policy area
field-level = Level
field-problem = Problem
field-support-index = Support index
field-pending = Pending approvals
field-points = Points
field-last-activity = Last activity
field-version = Version
field-as-of = As of
field-approval = Approval
field-approver = Approver
field-requested = Requested
field-decided = Decided
field-outcome = Outcome
field-waited = Waited
field-state = State
field-acknowledged = Acknowledged
field-action = Action
field-stakeholder = Stakeholder
field-kind = Kind
field-influence = Influence
field-stance = Stance
field-contacts = Contacts
field-last-contact = Last contact
field-metric = Metric
field-value = Value
field-target = Target
field-progress = Progress
field-measured = Measured on
field-due = Due
link-renamed_into = Renamed into
link-upgraded_into = Upgraded into
link-bundled_with = Bundled with
link-modelled_on = Modelled on
field-outcome = Target outcome
target-open = open
target-met = met
target-missed-by = missed by { $difference }
target-missed-no-value = missed: no value by the due date
field-date = Date
field-highlight = Highlight
field-conferred-by = Conferred by
field-balance = Running balance
field-type = Event
field-occurred = Occurred
field-recorded = Recorded
field-actor = Office / user
field-position = Log position

pilot-timeline = Stage timeline
pilot-approvals = Approvals
pilot-support = Stakeholders and support
pilot-metrics = Metrics against targets
pilot-highlights = Political highlights
pilot-events = Event history
pilot-events-help = Each event as stored in the log, oldest first; open one to read it whole.
timeline-ongoing = ongoing
retracted = (registration retracted)

alerts-title = Alerts
alerts-help = Approvals waiting too long: warnings, stalls and escalations, as the alerter recorded them.
alerts-caption = Open alerts
alerts-empty = No approval is waiting too long.
alerts-days = { $days ->
    [one] one day
   *[other] { $days } days
}
alerts-note = Note
alerts-acknowledge = Acknowledge
alerts-silenced-until = silenced until { $date }

light-ok = On time
light-warning = Warning
light-stalled = Stalled
light-escalated = Escalated (level { $level })

stage-framing = Framing
stage-design = Design
stage-awaiting_approval = Awaiting approval
stage-approved = Approved
stage-implementing = Implementing
stage-scaled = Scaled up
stage-merged = Merged
stage-terminated = Terminated

level-county = county
level-municipal = municipal
level-provincial = provincial
level-national = national

outcome-granted = Granted
outcome-denied = Denied
outcome-withdrawn = Withdrawn
outcome-pilot-ended = Pilot ended
outcome-pending = Pending

kind-leader = leader
kind-bureau = bureau
kind-higher_authority = higher authority
kind-enterprise = enterprise
kind-resident_group = resident group
kind-media = media
kind-expert = expert

highlight-award = award
highlight-commendation = commendation
highlight-official_visit = official visit
highlight-conference_invitation = conference invitation
highlight-honorary_title = honorary title
highlight-model_designation = model designation
highlight-media_coverage = media coverage
highlight-ranking_upgrade = ranking upgrade
highlight-budget_increase = budget increase
highlight-staff_increase = staff increase

stance-strongly-opposed = strongly opposed
stance-opposed = opposed
stance-neutral = neutral
stance-supportive = supportive
stance-strongly-supportive = strongly supportive

error-400 = The request cannot be read
error-401 = Not signed in
error-403 = Not allowed
error-404 = Not found
error-409 = Changed meanwhile
error-500 = Something went wrong
error-503 = Not ready yet
error-detail = What the service said
error-back = Back to the overview
error-bad-date = The date cannot be read. Give a day as YYYY-MM-DD, for example 2001-01-01.
error-bad-filter = A filter has a value this page does not offer. Choose one from the lists.
error-bad-field = The value of { $field } cannot be read.
error-no-pilot = There is no such pilot. Pick one from the overview.
error-not-yet = This pilot had not been proposed yet as of { $date }.
error-csrf = This form was sent without its security token (or with an old one), so it was refused. Reload the page and send it again.
error-forbidden = Your role or office may not do this.
error-not-found = There is nothing here.
error-conflict = Someone changed this at the same moment. Reload the page and try again.
error-unavailable = The event store cannot be reached just now. Try again in a moment.
error-internal = The service failed to answer. Try again; if it keeps failing, tell an administrator.
error-not-ready = The service is still reading its event log. Try again in a moment.

page-nav-label = Pages of the list
page-of = Page { $position }
page-previous = Previous page
page-next = Next page
