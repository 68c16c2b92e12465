// The field app's one message catalogue: Chinese first, English second. Enum values are
// shown only through it (enum.<Type>.<VALUE>); times are shown in Beijing time.

export const LANGUAGES = ["zh-CN", "en"];

const zh = {
  "app.name": "网格通",
  "app.tagline": "网格员工作台",
  "login.title": "登录",
  "login.phone": "手机号",
  "login.password": "密码",
  "login.submit": "登录",
  "login.busy": "正在登录…",
  "login.offline": "首次登录需要网络",
  "nav.work": "工单",
  "nav.report": "上报",
  "nav.activities": "活动",
  "nav.inbox": "通知",
  "nav.settings": "设置",
  "sync.online": "在线",
  "sync.offline": "离线",
  "sync.syncing": "正在同步…",
  "sync.unsent": "{n} 项待发送",
  "sync.allSent": "已全部发送",
  "sync.last": "上次同步 {time}",
  "sync.never": "尚未同步",
  "sync.retry": "立即同步",
  "sync.failed": "同步失败：{message}",
  "sync.conflicts": "{n} 项冲突待处理",
  "work.title": "我的工单",
  "work.search": "搜索工单（编号、标题、企业）",
  "work.filter": "筛选",
  "work.filter.all": "全部未结",
  "work.filter.mine": "指派给我",
  "work.filter.overdue": "已超时",
  "work.filter.closed": "已办结",
  "work.empty": "没有符合条件的工单",
  "work.dueIn": "剩余 {left}",
  "work.overdueBy": "已超时 {left}",
  "work.unsentMark": "待发送",
  "time.days": "{n} 天",
  "time.hours": "{n} 小时",
  "time.minutes": "{n} 分钟",
  "ticket.back": "返回",
  "ticket.number": "编号",
  "ticket.status": "状态",
  "ticket.severity": "严重程度",
  "ticket.source": "来源",
  "ticket.category": "类别",
  "ticket.tier": "调解层级",
  "ticket.enterprise": "企业",
  "ticket.grid": "网格",
  "ticket.reportedAt": "发生时间",
  "ticket.due": "办结期限",
  "ticket.description": "情况描述",
  "ticket.edit": "修改描述",
  "ticket.save": "保存",
  "ticket.cancel": "取消",
  "ticket.moves": "办理",
  "ticket.noMoves": "当前状态下您没有可办理的操作",
  "ticket.note": "办结说明",
  "ticket.notePlaceholder": "写明处理结果",
  "ticket.noteNeeded": "请先填写办结说明",
  "ticket.comments": "备注",
  "ticket.addComment": "添加备注",
  "ticket.commentPlaceholder": "写下备注",
  "ticket.send": "发送",
  "ticket.photos": "照片",
  "ticket.photoWaiting": "待上传",
  "ticket.photoUploaded": "已上传",
  "ticket.rate": "代职工评价",
  "ticket.rateOnline": "评价需要网络",
  "ticket.rated": "已评价 {n} 星",
  "ticket.gone": "此工单已不在您的范围内",
  "ticket.history": "办理记录",
  "ticket.historyOnline": "联网后可查看办理记录",
  "ticket.escalate": "升级到上一级",
  "ticket.escalateReason": "升级原因",
  "ticket.reasonNeeded": "请填写升级原因",
  "ticket.escalated": "已升级至{tier}",
  "ticket.escalateOnline": "升级需要网络",
  "move.ASSIGNED": "指派",
  "move.IN_PROGRESS": "开始办理",
  "move.WAITING_ON_WORKER": "等待职工",
  "move.MEDIATING": "进入调解",
  "move.RESOLVED": "办结",
  "move.CLOSED": "关闭",
  "move.REOPENED": "重新打开",
  "move.WITHDRAWN": "撤回",
  "move.REPORTED": "退回上报",
  "report.title": "上报",
  "report.enterprise": "企业",
  "report.enterpriseSearch": "按名称或统一社会信用代码搜索",
  "report.pickEnterprise": "请选择企业",
  "report.source": "来源",
  "report.category": "类别",
  "report.severity": "严重程度",
  "report.titleField": "标题",
  "report.description": "情况描述",
  "report.photo": "拍照",
  "report.photoAdded": "已添加 {n} 张照片",
  "report.submit": "保存上报",
  "report.saved": "已保存，联网后自动发送",
  "report.needTitle": "请填写标题",
  "activities.title": "今日活动",
  "activities.empty": "今天没有活动",
  "activities.signIn": "签到",
  "activities.attendee": "参加人姓名",
  "activities.signed": "已签到 {n} 人",
  "activities.add": "签到",
  "inbox.title": "通知",
  "inbox.empty": "没有通知",
  "inbox.unread": "未读",
  "conflicts.title": "同步冲突",
  "conflicts.empty": "没有待处理的冲突",
  "conflicts.mine": "我的",
  "conflicts.server": "服务器的",
  "conflicts.keepServer": "保留服务器的",
  "conflicts.takeMine": "采用我的",
  "conflicts.online": "处理冲突需要网络",
  "conflicts.field": "字段：{field}",
  "notices.rejected": "未能保存：{message}",
  "notices.dismiss": "知道了",
  "settings.title": "设置",
  "settings.language": "语言",
  "settings.push": "消息推送",
  "settings.pushOn": "开启推送",
  "settings.pushOnDone": "推送已开启",
  "settings.pushUnavailable": "此服务器或浏览器不支持推送",
  "settings.signOut": "退出登录",
  "settings.signOutWarn": "还有 {n} 项修改未发送，退出后将丢失。确定退出？",
  "settings.signOutConfirm": "退出并清除本机数据？",
  "settings.who": "{name}（{phone}）",
  "settings.version": "版本 {v}",
  "field.description": "情况描述",
  "field.title": "标题",
  "field.severity": "严重程度",
  "field.category": "类别",
  "field.status": "状态",
  "field.assigneeId": "承办人",
  "field.record": "整条记录",
  "notice.ASSIGNED": "新的指派",
  "notice.REASSIGNED": "工单改派",
  "notice.ESCALATED": "工单升级",
  "notice.other": "网格通消息",
};

const en = {
  "app.name": "Gridlink",
  "app.tagline": "Grid liaison",
  "login.title": "Sign in",
  "login.phone": "Phone",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.busy": "Signing in…",
  "login.offline": "The first sign-in needs a network",
  "nav.work": "Tickets",
  "nav.report": "Report",
  "nav.activities": "Activities",
  "nav.inbox": "Inbox",
  "nav.settings": "Settings",
  "sync.online": "Online",
  "sync.offline": "Offline",
  "sync.syncing": "Syncing…",
  "sync.unsent": "{n} unsent",
  "sync.allSent": "All sent",
  "sync.last": "Synced {time}",
  "sync.never": "Not synced yet",
  "sync.retry": "Sync now",
  "sync.failed": "Sync failed: {message}",
  "sync.conflicts": "{n} conflicts to settle",
  "work.title": "My tickets",
  "work.search": "Search (number, title, enterprise)",
  "work.filter": "Filter",
  "work.filter.all": "All open",
  "work.filter.mine": "Assigned to me",
  "work.filter.overdue": "Overdue",
  "work.filter.closed": "Closed",
  "work.empty": "No tickets match",
  "work.dueIn": "{left} left",
  "work.overdueBy": "{left} overdue",
  "work.unsentMark": "unsent",
  "time.days": "{n} d",
  "time.hours": "{n} h",
  "time.minutes": "{n} min",
  "ticket.back": "Back",
  "ticket.number": "Number",
  "ticket.status": "Status",
  "ticket.severity": "Severity",
  "ticket.source": "Source",
  "ticket.category": "Category",
  "ticket.tier": "Tier",
  "ticket.enterprise": "Enterprise",
  "ticket.grid": "Grid",
  "ticket.reportedAt": "Happened",
  "ticket.due": "Due",
  "ticket.description": "Description",
  "ticket.edit": "Edit description",
  "ticket.save": "Save",
  "ticket.cancel": "Cancel",
  "ticket.moves": "Actions",
  "ticket.noMoves": "Nothing you can do in this state",
  "ticket.note": "Resolution note",
  "ticket.notePlaceholder": "What was done",
  "ticket.noteNeeded": "Write a resolution note first",
  "ticket.comments": "Comments",
  "ticket.addComment": "Add a comment",
  "ticket.commentPlaceholder": "Write a comment",
  "ticket.send": "Send",
  "ticket.photos": "Photos",
  "ticket.photoWaiting": "waiting to upload",
  "ticket.photoUploaded": "uploaded",
  "ticket.rate": "Rate for the worker",
  "ticket.rateOnline": "Rating needs a network",
  "ticket.rated": "Rated {n} stars",
  "ticket.gone": "This ticket is no longer yours to see",
  "ticket.history": "History",
  "ticket.historyOnline": "The history shows when online",
  "ticket.escalate": "Escalate",
  "ticket.escalateReason": "Reason for escalating",
  "ticket.reasonNeeded": "Give a reason",
  "ticket.escalated": "Escalated to {tier}",
  "ticket.escalateOnline": "Escalating needs a network",
  "move.ASSIGNED": "Assign",
  "move.IN_PROGRESS": "Start",
  "move.WAITING_ON_WORKER": "Wait on worker",
  "move.MEDIATING": "Mediate",
  "move.RESOLVED": "Resolve",
  "move.CLOSED": "Close",
  "move.REOPENED": "Reopen",
  "move.WITHDRAWN": "Withdraw",
  "move.REPORTED": "Back to reported",
  "report.title": "Report",
  "report.enterprise": "Enterprise",
  "report.enterpriseSearch": "Search by name or credit code",
  "report.pickEnterprise": "Pick an enterprise",
  "report.source": "Source",
  "report.category": "Category",
  "report.severity": "Severity",
  "report.titleField": "Title",
  "report.description": "Description",
  "report.photo": "Take a photo",
  "report.photoAdded": "{n} photos added",
  "report.submit": "Save report",
  "report.saved": "Saved; it goes out when there is a network",
  "report.needTitle": "Give a title",
  "activities.title": "Today's activities",
  "activities.empty": "No activities today",
  "activities.signIn": "Sign in",
  "activities.attendee": "Attendee's name",
  "activities.signed": "{n} signed in",
  "activities.add": "Sign in",
  "inbox.title": "Inbox",
  "inbox.empty": "No notifications",
  "inbox.unread": "unread",
  "conflicts.title": "Sync conflicts",
  "conflicts.empty": "No conflicts to settle",
  "conflicts.mine": "Mine",
  "conflicts.server": "Server's",
  "conflicts.keepServer": "Keep the server's",
  "conflicts.takeMine": "Take mine",
  "conflicts.online": "Settling a conflict needs a network",
  "conflicts.field": "Field: {field}",
  "notices.rejected": "Not saved: {message}",
  "notices.dismiss": "OK",
  "settings.title": "Settings",
  "settings.language": "Language",
  "settings.push": "Push notifications",
  "settings.pushOn": "Turn on",
  "settings.pushOnDone": "Push is on",
  "settings.pushUnavailable": "This server or browser does not offer push",
  "settings.signOut": "Sign out",
  "settings.signOutWarn": "{n} changes are not sent yet and will be lost. Sign out anyway?",
  "settings.signOutConfirm": "Sign out and clear this device?",
  "settings.who": "{name} ({phone})",
  "settings.version": "Version {v}",
  "field.description": "Description",
  "field.title": "Title",
  "field.severity": "Severity",
  "field.category": "Category",
  "field.status": "Status",
  "field.assigneeId": "Assignee",
  "field.record": "The whole record",
  "notice.ASSIGNED": "New assignment",
  "notice.REASSIGNED": "Ticket reassigned",
  "notice.ESCALATED": "Ticket escalated",
  "notice.other": "Gridlink",
};

const enums = {
  TicketStatus: {
    REPORTED: ["已上报", "Reported"],
    ASSIGNED: ["已指派", "Assigned"],
    IN_PROGRESS: ["办理中", "In progress"],
    WAITING_ON_WORKER: ["等待职工", "Waiting on worker"],
    MEDIATING: ["调解中", "Mediating"],
    RESOLVED: ["已办结", "Resolved"],
    CLOSED: ["已关闭", "Closed"],
    REOPENED: ["重新打开", "Reopened"],
    WITHDRAWN: ["已撤回", "Withdrawn"],
  },
  Severity: {
    LOW: ["低", "Low"],
    MEDIUM: ["中", "Medium"],
    HIGH: ["高", "High"],
    CRITICAL: ["紧急", "Critical"],
  },
  TicketSource: {
    WORKER_REQUEST: ["职工诉求", "Worker request"],
    RISK_HAZARD: ["风险隐患", "Risk hazard"],
    HOTLINE_12351: ["12351 热线", "12351 hotline"],
    DIRECT_REPORT: ["直报点上报", "Direct report"],
  },
  Tier: {
    GRID: ["网格", "Grid"],
    TOWN: ["镇（街道）", "Town"],
    COUNTY_STATION: ["县工作站", "County station"],
    COURT_MEDIATION: ["法院调解", "Court mediation"],
  },
  Category: {
    WAGES: ["工资", "Wages"],
    SOCIAL_INSURANCE: ["社保", "Social insurance"],
    CONTRACT: ["劳动合同", "Contract"],
    WORKING_HOURS: ["工时", "Working hours"],
    SAFETY: ["安全生产", "Safety"],
    DISMISSAL: ["解除劳动关系", "Dismissal"],
    OTHER: ["其他", "Other"],
  },
  EventKind: {
    REPORTED: ["上报", "Reported"],
    ASSIGNED: ["指派", "Assigned"],
    STATUS: ["状态变更", "Status"],
    ESCALATED: ["升级", "Escalated"],
    MOVED: ["转网格", "Moved"],
    EDITED: ["修改", "Edited"],
    RATED: ["评价", "Rated"],
  },
  ActivityKind: {
    BIG_POT_TRAINING: ["集中培训（大锅）", "Common training"],
    SMALL_STOVE_COACHING: ["上门辅导（小灶）", "On-site coaching"],
    LEGAL_AID: ["法律援助", "Legal aid"],
    COUNSELLING: ["心理疏导", "Counselling"],
    LOANS: ["贷款帮扶", "Loans"],
    READING: ["职工书屋", "Reading"],
    HEALTH_TALK: ["健康讲座", "Health talk"],
    MODEL_WORKER_TALK: ["劳模宣讲", "Model worker talk"],
    TECH_GUIDANCE: ["技术指导", "Technical guidance"],
    JOB_FAIR: ["招聘会", "Job fair"],
    PUBLICITY: ["宣传活动", "Publicity"],
  },
  NotificationKind: {
    ASSIGNED: ["新的指派", "Assigned to you"],
    REASSIGNED: ["工单改派", "Reassigned"],
    UNASSIGNED: ["已取消指派", "Unassigned"],
    ESCALATED: ["工单升级", "Escalated"],
    DEADLINE_WARNING: ["即将超时", "Deadline near"],
    DEADLINE_BREACH: ["已超时", "Deadline passed"],
    RISK_RAISED: ["风险升级", "Risk raised"],
  },
};

const catalogues = { "zh-CN": zh, en };

/** Every message key of a language (for the catalogue's own test). */
export function keys(language) {
  return Object.keys(catalogues[language] || {});
}

/** The language to use: the one chosen in settings, else the phone's, else Chinese. */
export function pickLanguage(chosen, preferred = globalThis.navigator?.languages || []) {
  if (chosen && catalogues[chosen]) return chosen;
  for (const lang of preferred) {
    if (lang.toLowerCase().startsWith("zh")) return "zh-CN";
    if (lang.toLowerCase().startsWith("en")) return "en";
  }
  return "zh-CN";
}

/** A message in `lang` with {placeholders} filled; Chinese when English lacks it. */
export function t(lang, key, fallback, values = {}) {
  if (fallback && typeof fallback === "object") {
    values = fallback;
    fallback = undefined;
  }
  const table = catalogues[pickLanguage(lang, [])] || zh;
  let text = table[key] ?? zh[key] ?? fallback ?? key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** An enum value as a person reads it; an unknown value in a neutral form, never raw. */
export function label(lang, type, value) {
  if (value == null) return "—";
  const pair = enums[type]?.[value];
  if (pair) return pickLanguage(lang, []) === "en" ? pair[1] : pair[0];
  const words = String(value).toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function enumValues(type) {
  return Object.keys(enums[type] || {});
}

const TZ = "Asia/Shanghai";

/** A time in Beijing time, e.g. 12月1日 09:30 / Dec 1, 09:30. */
export function formatTime(lang, iso) {
  if (!iso) return "—";
  const locale = pickLanguage(lang, []) === "en" ? "en-GB" : "zh-CN";
  return new Intl.DateTimeFormat(locale, {
    timeZone: TZ,
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(new Date(iso));
}

/** "3 天" / "5 小时" / "20 分钟" for a span in milliseconds. */
export function formatSpan(lang, ms) {
  const minutes = Math.max(1, Math.round(Math.abs(ms) / 60000));
  if (minutes >= 48 * 60) return t(lang, "time.days", { n: Math.round(minutes / 1440) });
  if (minutes >= 60) return t(lang, "time.hours", { n: Math.round(minutes / 60) });
  return t(lang, "time.minutes", { n: minutes });
}

/** Today in Beijing as YYYY-MM-DD (to pick today's activities). */
export function beijingDay(iso) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(iso ? new Date(iso) : new Date());
}
