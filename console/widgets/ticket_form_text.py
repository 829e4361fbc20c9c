"""The ticket form's texts (zh_CN default, English) and the sentences that explain a refusal."""

from __future__ import annotations

from console.i18n import Translator
from console.services.intake import GateResult

CATALOGUE = {
    "zh_CN": {
        "form.nature": "诉求性质", "form.classify": "分类（三级定性）", "form.district": "属地",
        "form.address": "详细地址（小区、楼栋、门牌）", "form.when": "发生时间（如：昨晚起）",
        "form.caller_name": "来电人姓名", "form.caller_phone": "联系电话", "form.consent": "同意回访",
        "form.description": "诉求描述（{n}/{max} 字）", "form.direct": "直接办结（当场答复）",
        "form.chosen": "已选：", "form.district_match": "属地匹配：{district} {street}",
        "el.who": "来电人（姓名或电话）", "el.when": "发生时间", "el.where": "地点（属地和地址）",
        "el.what": "事项分类", "el.demand": "诉求（性质和至少 5 字描述）",
        "gate.missing": "五要素不全，不能派单：缺{items}", "gate.sep": "、",
        "problem.too_long": "{field}过长：{n} 字，最多 {max} 字（内容已保留，请精简）",
        "problem.bad_phone": "联系电话不是有效号码", "problem.bad_choice": "{field}的取值无效",
        "problem.no_answer": "直接办结需要答复内容（F3 取标准答复）",
        "field.description": "诉求描述", "field.address": "地址", "field.caller_name": "来电人姓名",
        "field.when": "发生时间", "field.answer": "答复", "field.street": "街道", "field.district": "属地",
        "field.caller_phone": "联系电话", "field.board": "板块", "field.urgency": "紧急程度",
        "status.call": "来电 {caller}", "status.call_ended": "通话已结束：工单仍可填写并保存（Ctrl+S）",
        "status.critical": "紧急事项！请立即转 {handoff} 并告知来电人", "status.has_answer": "此事项有标准答复：F3 可直接办结",
        "status.saving": "正在保存……", "status.busy": "存储繁忙，正在重试：{error}",
        "status.save_failed": "保存失败，内容和草稿都已保留，可再按 Ctrl+S：{error}",
        "status.saved": "已保存，请向来电人复述工单号 {number}", "status.already_saved": "工单 {number} 已保存",
        "status.duplicates": "发现 {n} 个可能重复的工单：请选择并单、跟进或新建", "status.dup_cancelled": "已返回修改",
        "status.draft_failed": "草稿暂存失败（内容仍在屏幕上）：{error}",
        "status.draft_unreadable": "读取草稿失败：{error}", "status.restored": "已恢复未保存的草稿（来电 {call}）",
        "dup.title": "可能重复的工单（回车选择）", "dup.same_caller": "同一来电人", "dup.same_place": "同地址同事项",
        "dup.merge": "并单到 {number}（{status}，{when}，{why}）", "dup.follow": "作为 {number} 的跟进来电，不新建工单",
        "dup.new": "不是重复：新建工单", "dup.cancel": "返回修改",
        "saved.title": "工单号（请复述给来电人）", "saved.status": "{number}  {status}",
        "saved.merged": "{number}  已并单到 {parent}", "saved.follow_up": "{number}  跟进来电已记录（{status}）",
    },
    "en": {
        "form.nature": "Nature", "form.classify": "Category", "form.district": "District",
        "form.address": "Address (estate, building, flat)", "form.when": "When (e.g. since last night)",
        "form.caller_name": "Caller name", "form.caller_phone": "Phone", "form.consent": "Callback OK",
        "form.description": "Description ({n}/{max} characters)", "form.direct": "Answer now (close on the spot)",
        "form.chosen": "Chosen: ", "form.district_match": "District: {district} {street}",
        "el.who": "who (name or phone)", "el.when": "when", "el.where": "where (district and address)",
        "el.what": "category", "el.demand": "demand (nature and 5+ characters)",
        "gate.missing": "Incomplete ticket, cannot dispatch: missing {items}", "gate.sep": ", ",
        "problem.too_long": "{field} too long: {n} characters, at most {max} (text kept; shorten it)",
        "problem.bad_phone": "The phone number is not valid", "problem.bad_choice": "Invalid {field}",
        "problem.no_answer": "Closing on the spot needs an answer (F3 for the standard answer)",
        "field.description": "Description", "field.address": "Address", "field.caller_name": "Caller name",
        "field.when": "When", "field.answer": "Answer", "field.street": "Street", "field.district": "District",
        "field.caller_phone": "Phone", "field.board": "Board", "field.urgency": "Urgency",
        "status.call": "Call from {caller}", "status.call_ended": "Call ended: the ticket can still be saved (Ctrl+S)",
        "status.critical": "EMERGENCY: transfer to {handoff} now", "status.has_answer": "Standard answer available: F3",
        "status.saving": "Saving...", "status.busy": "Store busy, retrying: {error}",
        "status.save_failed": "Not saved; the form and draft are kept, press Ctrl+S again: {error}",
        "status.saved": "Saved: read ticket {number} back to the caller", "status.already_saved": "Ticket {number} saved",
        "status.duplicates": "{n} possible duplicate(s): merge, follow up or create new",
        "status.dup_cancelled": "Back to editing", "status.draft_failed": "Draft not stored (still on screen): {error}",
        "status.draft_unreadable": "Could not read the draft: {error}",
        "status.restored": "Unsaved draft restored (call {call})",
        "dup.title": "Possible duplicates (Enter to choose)", "dup.same_caller": "same caller",
        "dup.same_place": "same place and matter", "dup.merge": "Merge into {number} ({status}, {when}, {why})",
        "dup.follow": "Follow-up call on {number}, no new ticket", "dup.new": "Not a duplicate: new ticket",
        "dup.cancel": "Back to editing", "saved.title": "Ticket number (read it back)",
        "saved.status": "{number}  {status}", "saved.merged": "{number}  merged into {parent}",
        "saved.follow_up": "{number}  follow-up call recorded ({status})",
    },
}


def describe_gate(tr: Translator, gate: GateResult) -> str:
    """One or two sentences: which of the five elements are missing, then each bad value."""
    parts = []
    if gate.missing:
        items = tr.t("gate.sep").join(tr.t(f"el.{e}") for e in gate.missing)
        parts.append(tr.t("gate.missing", items=items))
    for problem in gate.problems:
        parts.append(tr.t(f"problem.{problem.key}", field=tr.t(f"field.{problem.field}"), **problem.values))
    return "\n".join(parts)


def describe_problem(text: str) -> str:
    """A store refusal (already one line, in English) as shown in the status line."""
    return " ".join(text.split())[:300]
