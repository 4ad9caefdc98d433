# 试点页面的补充、利益相关方页面、台账与简报（第 12 号议题第 3、4、9 项）。

nav-ledger = 台账

field-known-at = 截至记录日
known-at-now = 按目前所知。
known-at-day = 按 { $date }（UTC）结束时所知：之后录入的事件不显示。
dossier-printed = 打印于 { $date }
dossier-position = 日志位置 { $position }

pilot-marks = 审批、合并与推广
mark-approval = 审批
mark-waited = 等待 { $days } 天
mark-waiting = 已等待 { $days } 天
mark-merged-into = 并入
mark-merged-from = 并入本试点的：
mark-scaled-up = 推广

pilot-coalition = 支持联盟（立场大于零）
pilot-opposition = 反对方（立场小于零）
pilot-contacts = 历次接触
pilot-contacts-table = 全部接触
field-channel = 渠道
field-contacts-so-far = 累计接触
chart-contacts-title = 历次接触累计
chart-contacts-desc = 共 { $count } 次接触，按记录累计。

chart-metric-title = { $metric } 的变化
chart-readings = { $metric } 的读数
chart-target = 目标 { $target }
chart-balance-title = { $name } 的政绩积分变化

pilot-chain = 哈希链
chain-all-ok = 已验证：本链全部 { $count } 个已存事件完好（每个哈希与内容相符，并与前一事件相连）。
chain-has-broken = 已断裂：本链有 { $count } 条已存消息不成立。
chain-unavailable = 无法读取日志，未验证本链。
chain-help = 由服务端验证，与 pilot verify 相同，覆盖日志中本试点链上的每条消息。
chain-detail = 详情
chain-link-ok = 完好
chain-link-broken = 链接断裂
chain-unreadable = 不是已存事件
chain-altered = 已被篡改：哈希与内容不符
chain-out-of-place = 位置错误：未接续前一事件
field-chain = 链
field-chain-problem = 问题

error-no-stakeholder = 没有这个利益相关方。
stakeholder-stances = 在各试点上的立场
stakeholder-contacts-total = 共 { $count } 次接触。
stakeholder-balance = 政绩积分变化
stakeholder-lines = 记在其名下的政绩
field-side = 阵营
field-registered = 登记日期
side-coalition = 支持联盟
side-opposition = 反对方
side-neutral = 中立

ledger-title = 政绩台账
ledger-filter-label = 筛选台账
ledger-help = 按记在名下的政绩积分为利益相关方排名；展开可查看每个数字背后的条目。
ledger-points = { $points } 分
ledger-open-stakeholder = 打开 { $name } 的页面
ledger-lines-of = { $name } 积分背后的条目
field-from = 起始
field-until = 截止

timeline-desc = 各阶段及其起始日期：{ $stages }。
timeline-desc-marks = 共 { $count } 个标记（审批及其等待时长、合并与推广），列于时间线下方。
timeline-key-decided = 已决定的审批
timeline-key-merge = 合并
timeline-key-scale-up = 推广

# 比较分析页面（第 13 号议题）。
nav-analytics = 比较分析
analytics-title = 比较分析
analytics-help = 天数按每天 24 小时计算；“—”表示该组没有可计算的数据。
analytics-overall = { $figure }：总体
analytics-by-level = { $figure }：按审批层级
analytics-by-approver = { $figure }：按审批人
analytics-all-pilots = 全部试点
analytics-all-approvals = 全部审批
analytics-scaled-pilots = 已推广的试点
analytics-col-group = 分组
analytics-col-count = 数量
analytics-col-median = 中位数（天）
analytics-col-mean = 平均值（天）
analytics-col-min = 最小值（天）
analytics-col-max = 最大值（天）
analytics-col-requested = 已申请
analytics-col-stalled = 已停滞
analytics-col-stalled-pending = 其中仍待决
analytics-col-share = 停滞比例
analytics-col-proposed = 提出日期
analytics-col-to-approval = 至批准天数
analytics-col-to-scale-up = 至推广天数
analytics-col-year = 年份
analytics-col-lines = 条目数
analytics-to-approval = 从提出到批准
analytics-to-approval-help = 从试点提出到首次获批的天数，按批准该试点那一轮中获准审批的层级和审批人分组。
analytics-to-decision = 从申请到决定
analytics-to-decision-help = 每项已批准、已拒绝或已撤回的审批，从申请到决定的天数；因合并或终止而结束的审批不计入。
analytics-stall-rate = 停滞率
analytics-stall-rate-help = 在已申请的审批中，一直等到所记录的期限或超过期限的比例，无论是否已决定。
analytics-scale-up = 推广用时
analytics-scale-up-help = 从试点提出到首次推广的天数。
analytics-scale-up-summary = 已推广试点的推广用时
analytics-per-pilot = 各试点至批准和至推广的天数
analytics-points = 每年积分
analytics-points-help = 每条台账条目按其发生年份，全额计入所记名的每个利益相关方和每个机构。
analytics-points-stakeholders = 各利益相关方每年积分
analytics-points-offices = 各机构每年积分
analytics-support = 支持指数变化
analytics-support-help = 每个试点在每次改变支持指数的事件之后的支持指数。
analytics-support-of = { $title } 的支持指数
