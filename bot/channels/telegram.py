"""Telegram channel on python-telegram-bot 22: one bot per desk, every message through the gateway.

Why it looks like this:
- PTB runs without its Updater (`.updater(None)`): `telegram_runtime.TelegramDesk` fetches updates
  (long polling or webhook), journals each one before Telegram is told, and feeds it here;
- the gateway's message id is Telegram's message id (or callback query id), so a redelivered
  update is answered once;
- replies are queued and sent by the outbound worker (`TelegramPusher`): retried on failure, in
  order, cut at Telegram's 4,096-character limit;
- `PacedRateLimiter` keeps about one message per second per chat on top of PTB's AIORateLimiter
  (30/s overall, 20/min per group, retries after a 429's `retry_after`);
- photos, stickers and voice get a polite request for text;
- private chats only: in a group every member would share one conversation (one sender id, the
  group's), reading each other's replies and staff answers. Messages, commands and button presses
  from groups, supergroups and channels are ignored, and so is everything from the staff chat (the
  staff group talks among itself; alerts there carry no buttons and the bot takes no commands there).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.gateway.service import Gateway, Inbound
from bot.privacy import mask
from bot.voice import is_youth

log = logging.getLogger(__name__)

TELEGRAM_MAX_CHARS = 4096
CALLBACK_DATA_MAX_BYTES = 64
HELP_TEXT = (
    "直接用文字告诉我您想咨询或反映的事情就可以。\n"
    "/start 重新开始  /cancel 取消当前填写  /help 帮助\n"
    "说“转人工”可以找工作人员。紧急情况请直接拨打110/119/120。"
)
NOT_TEXT = "抱歉，我现在只能看懂文字消息。请用文字描述一下您的情况，图片等材料可以之后提交给工作人员。"
YOUTH_HELP_TEXT = (
    "想聊什么、想问什么，直接打字告诉我就好。\n"
    "/start 重新开始  /cancel 取消当前填写  /help 帮助\n"
    "说“转人工”可以找老师。紧急情况请直接拨打110/119/120。"
)
YOUTH_NOT_TEXT = "抱歉，我现在只能看懂文字。可以打字说说你的情况吗？图片等材料之后可以发给老师。"
"""12355's bot speaks to young people as 你, like the rest of that desk (domain.yml's 12355 variants)."""
ERROR_TEXT = "抱歉，出了点问题，请稍后再试，或拨打热线。紧急情况请拨打110/120。"
SENDING_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendSticker", "sendVoice", "editMessageText"}


def split_message(text: str, limit: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """Cut a long reply into Telegram-sized parts, preferring line breaks and sentence ends."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind("。", 0, limit) + 1)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text:
        parts.append(text)
    return parts


def keyboard(buttons: Sequence[dict[str, str]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard of the reply's buttons; payloads over Telegram's 64 bytes fall back to the title."""
    rows = []
    for button in buttons:
        data = button["payload"]
        if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
            data = button["title"][:20]
        rows.append([InlineKeyboardButton(button["title"], callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


def message_id_of(update: Update) -> str:
    """A key that stays the same when Telegram redelivers the update, and never repeats otherwise.

    Message ids grow within a chat and callback query ids are unique; update ids may restart at a
    random value after a week of silence, so they are only the last resort.
    """
    if update.callback_query is not None:
        return f"c{update.callback_query.id}"
    if update.effective_message is not None:
        return f"m{update.effective_message.message_id}"
    return f"u{update.update_id}"


class PacedRateLimiter(AIORateLimiter):
    """AIORateLimiter plus a per-chat pace: a burst of `chat_burst`, then `chat_rate` messages per second.

    Telegram asks for about one message per second per chat; AIORateLimiter has no private-chat limit.
    """

    def __init__(self, chat_rate: float = 1.0, chat_burst: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._chat_rate, self._chat_burst = chat_rate, chat_burst
        self._chat_limiters: dict[str, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: str) -> AsyncLimiter:
        if len(self._chat_limiters) > 1024:  # forget idle chats
            for key, limiter in list(self._chat_limiters.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[key]
        if chat_id not in self._chat_limiters:
            self._chat_limiters[chat_id] = AsyncLimiter(self._chat_burst, self._chat_burst / self._chat_rate)
        return self._chat_limiters[chat_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if chat_id is None or endpoint not in SENDING_METHODS or not self._chat_rate:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        async with self._chat_limiter(str(chat_id)):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


class PeopleCallbackQueryHandler(CallbackQueryHandler[Any, Any]):
    """A button press from a person's private chat only.

    PTB's CallbackQueryHandler takes no `filters` (and message filters do not look at callback
    queries), so the chat is checked here: a press in a group, in the staff chat, or on an inline
    message without a chat is not handled.
    """

    def __init__(self, callback: Any, is_person_chat: Callable[[Chat | None], bool]) -> None:
        super().__init__(callback)
        self._is_person_chat = is_person_chat

    def check_update(self, update: object) -> bool | object | None:
        if not super().check_update(update):
            return None
        assert isinstance(update, Update)
        return True if self._is_person_chat(update.effective_chat) else None


class TelegramChannel:
    """Wires one desk's Telegram bot to the gateway."""

    def __init__(
        self, desk: str, gateway: Gateway, staff_chat_id: str | None = None, oncall_chat_id: str | None = None
    ) -> None:
        self.desk = desk
        self.gateway = gateway
        self.staff_chat_id = staff_chat_id
        self.oncall_chat_id = oncall_chat_id  # the on-call roster's chat gets alerts too: never a person's chat

    @property
    def _staff_chats(self) -> list[str]:
        return [c for c in (self.staff_chat_id, self.oncall_chat_id) if c]

    async def _handle_text(self, update: Update, text: str, notice: bool = False) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        inbound = Inbound(
            desk=self.desk,
            channel="telegram",
            user=str(chat.id),
            text=text,
            message_id=message_id_of(update),
            queue_replies=True,
            notice=notice,
        )
        await self.gateway.handle(inbound)  # the replies go out through the outbound queue

    def is_staff_chat(self, chat: Chat | None) -> bool:
        if chat is None:
            return False
        for staff in self._staff_chats:
            if staff.lstrip("-").isdigit():
                if chat.id == int(staff):
                    return True
            elif (chat.username or "").lower() == staff.lstrip("@").lower():
                return True
        return False

    def is_person_chat(self, chat: Chat | None) -> bool:
        """A private chat with one person, not the staff chat: the only chats the bot converses in."""
        return chat is not None and chat.type == Chat.PRIVATE and not self.is_staff_chat(chat)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message: through the gateway; the replies are queued for the chat."""
        assert update.effective_message is not None
        await self._handle_text(update, update.effective_message.text or "")

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: greets through the bot so the desk's greeting is used, with the privacy notice
        before it every time (a chat that starts again reads it again)."""
        await self._handle_text(update, "你好", notice=True)

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel: stops whatever form is being filled."""
        await self._handle_text(update, "取消")

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: how to use the bot, answered locally."""
        assert update.effective_message is not None
        await update.effective_message.reply_text(YOUTH_HELP_TEXT if is_youth(self.desk) else HELP_TEXT)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press, handled like the text of its payload (TelegramDesk has already answered the query)."""
        query = update.callback_query
        assert query is not None
        await self._handle_text(update, query.data or "")

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, stickers, voice, files: ask for text instead."""
        assert update.effective_message is not None
        await update.effective_message.reply_text(YOUTH_NOT_TEXT if is_youth(self.desk) else NOT_TEXT)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One central error handler: log (masked, traceback included) and tell the person, never go silent."""
        error = context.error
        trace = "".join(traceback.format_exception(error)) if error is not None else ""
        log.error("telegram handler failed: %s", mask(trace)[-2000:])
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, ERROR_TEXT)
            except Exception as exc:  # the error handler must not raise
                log.error("could not send the error message: %s", type(exc).__name__)

    def build(
        self, token: str, base_url: str | None = None, max_retries: int = 3, rate_limiter: AIORateLimiter | None = None
    ) -> Application:
        """A PTB Application without an Updater: TelegramDesk feeds it updates it has journalled."""
        builder = (
            Application.builder()
            .token(token)
            .updater(None)
            .rate_limiter(rate_limiter or PacedRateLimiter(max_retries=max_retries))
        )
        if base_url:
            builder = builder.base_url(base_url.rstrip("/") + "/bot").base_file_url(base_url.rstrip("/") + "/file/bot")
        application = builder.build()
        # private chats only (a group would be one conversation shared by all its members)
        people: filters.BaseFilter = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
        for staff in self._staff_chats:  # the staff and on-call chats talk among themselves; none of it goes to the bot
            staff_chat = (
                filters.Chat(chat_id=int(staff)) if staff.lstrip("-").isdigit() else filters.Chat(username=staff)
            )
            people = people & ~staff_chat
        application.add_handler(CommandHandler("start", self.on_start, filters=people))
        application.add_handler(CommandHandler("help", self.on_help, filters=people))
        application.add_handler(CommandHandler("cancel", self.on_cancel, filters=people))
        application.add_handler(PeopleCallbackQueryHandler(self.on_button, self.is_person_chat))
        application.add_handler(MessageHandler(people & filters.TEXT & ~filters.COMMAND, self.on_text))
        application.add_handler(
            MessageHandler(people & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, self.on_other)
        )
        application.add_error_handler(self.on_error)
        application.bot_data["desk"] = self.desk
        return application
