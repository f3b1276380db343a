"""Chinese words for the shared vocabulary (the database keeps the contract words of the spec)."""

from __future__ import annotations

STATUS = {
    "new": "新工单",
    "in_progress": "处理中",
    "waiting_for_person": "等待群众回复",
    "resolved": "已办结",
    "closed": "已关闭",
    "declined": "不予受理",
    "referred": "已转介",
}
ROUTE = {
    "ticket": "工单",
    "crisis": "危机",
    "refer": "转介",
    "decline": "不予受理",
    "emergency": "紧急",
    "faq": "常见问题",
}
PRIORITY = {"urgent": "紧急", "high": "优先", "normal": "普通"}
ROLE = {"agent": "坐席", "supervisor": "班长", "admin": "管理员"}
SENDER = {"person": "群众", "bot": "机器人", "staff": "工作人员"}
CHANNEL = {
    "telegram": "Telegram",
    "web": "网页",
    "rest": "接口",
    "terminal": "终端",
    "wechat": "微信公众号",
    "wechat_kf": "微信客服",
}
OUTCOME = {"solved": "已解决", "not_solved": "未解决", "no_answer": "未接通"}
FOLLOW_UP_STATUS = {"pending": "待回访", "done": "已完成", "cancelled": "已取消"}
CONTACT = {"phone": "电话", "wechat": "微信", "email": "邮箱"}
EVENT = {
    "created": "创建",
    "status_changed": "状态变更",
    "assigned": "分派",
    "transferred": "转办",
    "note": "内部备注",
    "reply_sent": "回复群众",
    "category_changed": "修改分类",
    "contact_added": "留下联系方式",
    "contact_revealed": "查看联系方式",
    "follow_up": "回访",
    "rated": "评价",
    "safety_feedback": "安全筛查反馈",
}
KIND = {"desk": "受理目录", "faq": "常见问题", "lessons": "分类补充示例", "safety": "安全筛查补充示例"}
VERDICT = {"false_alarm": "误报", "missed_crisis": "漏判"}
DESK = {"12345": "12345政务服务便民热线", "12355": "12355青少年服务台"}

LABELS = {
    "status": STATUS,
    "route": ROUTE,
    "priority": PRIORITY,
    "role": ROLE,
    "sender": SENDER,
    "channel": CHANNEL,
    "outcome": OUTCOME,
    "follow_up_status": FOLLOW_UP_STATUS,
    "contact": CONTACT,
    "event": EVENT,
    "kind": KIND,
    "desk": DESK,
    "verdict": VERDICT,
}
