# 审批停滞提醒邮件（pilot_alerter::email）。参数见 en/email.ftl。

email-days = { $unit ->
    [working_days] { $days } 个工作日
   *[calendar_days] { $days } 天
}

email-subject-warning = [{ $pilot }] 审批即将超期：{ $approver } 已等待 { $waited }（时限 { $threshold }）
email-subject-fired = [{ $pilot }] 审批已停滞：{ $approver } 已等待 { $waited }（时限 { $threshold }）
email-subject-escalated = [{ $pilot }] 审批仍停滞（第 { $escalation } 级）：{ $approver } 已等待 { $waited }（时限 { $threshold }）
email-subject-extended = [{ $pilot }] 审批时限已延长：{ $approver }（现为 { $threshold }）
email-subject-acknowledged = [{ $pilot }] 提醒已确认：{ $approver }
email-subject-silenced = [{ $pilot }] 提醒已静默：{ $approver }
email-subject-resolved = [{ $pilot }] 审批{ $reason }：{ $approver }，共等待 { $waited }（时限 { $threshold }）

email-reason-granted = 已批准
email-reason-denied = 未获批准
email-reason-withdrawn = 已撤回
email-reason-pilot_merged = 已结束（试点已合并）
email-reason-pilot_terminated = 已结束（试点已终止）
email-reason-retracted = 申请已撤销

email-level-county = 县级
email-level-municipal = 市级
email-level-provincial = 省级
email-level-national = 国家级

email-intro-warning = 该试点的一项审批即将超过时限。
email-intro-fired = 该试点的一项审批已停滞：等待时间已超过时限。
email-intro-escalated = 该试点的一项审批仍然停滞：又过了一个完整时限。
email-intro-extended = 该试点一项审批的时限已延长。
email-intro-acknowledged = 该试点的一条提醒已被确认。
email-intro-silenced = 该试点的一条提醒已被静默。
email-intro-resolved = 等待已结束：审批{ $reason }。

email-field-pilot = 试点
email-field-approval = 审批
email-field-approver = 审批方
email-field-requested = 申请时间
email-field-waited = 已等待
email-field-threshold = 时限
email-field-counted = 计算方式
email-field-last-activity = 试点最近动态
email-field-at = 发生时间
email-field-alert = 提醒编号
email-footer = 由 pilot-tracker 发送。本邮件对应一条提醒事件，其在提醒流上的主题为 { $subject }。
