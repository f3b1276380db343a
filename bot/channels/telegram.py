"""Telegram channel on python-telegram-bot 22: one bot per desk, every message through the gateway.

Why it looks like this:
- the update id is the gateway's message id, so a redelivered update is answered once;
- callback queries are answered at once (Telegram expires them after ~15 s), then handled;
- replies are cut at Telegram's 4,096-character limit, and AIORateLimiter paces sends and retries
  HTTP 429 after `retry_after`;
- photos, stickers and voice get a polite request for text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.gateway.service import Gateway, Inbound, Reply
from bot.privacy import mask

log = logging.getLogger(__name__)

TELEGRAM_MAX_CHARS = 4096
CALLBACK_DATA_MAX_BYTES = 64
HELP_TEXT = (
    "直接用文字告诉我您想咨询或反映的事情就可以。\n"
    "/start 重新开始  /cancel 取消当前填写  /help 帮助\n"
    "说“转人工”可以找工作人员。紧急情况请直接拨打110/119/120。"
)
NOT_TEXT = "抱歉，我现在只能看懂文字消息。请用文字描述一下您的情况，图片等材料可以之后提交给工作人员。"


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


class TelegramChannel:
    """Wires one desk's Telegram bot to the gateway."""

    def __init__(self, desk: str, gateway: Gateway) -> None:
        self.desk = desk
        self.gateway = gateway

    async def _send(self, update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        for reply in replies:
            parts = split_message(reply.text)
            for index, part in enumerate(parts):
                markup = keyboard(reply.buttons) if index == len(parts) - 1 else None
                await context.bot.send_message(chat_id=chat.id, text=part, reply_markup=markup)

    async def _handle_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        inbound = Inbound(
            desk=self.desk, channel="telegram", user=str(chat.id), text=text, message_id=f"u{update.update_id}"
        )
        await self._send(update, context, await self.gateway.handle(inbound))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message: through the gateway, replies back to the chat."""
        assert update.effective_message is not None
        await self._handle_text(update, context, update.effective_message.text or "")

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: greets through the bot so the desk's greeting is used."""
        await self._handle_text(update, context, "你好")

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel: stops whatever form is being filled."""
        await self._handle_text(update, context, "取消")

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: how to use the bot, answered locally."""
        assert update.effective_message is not None
        await update.effective_message.reply_text(HELP_TEXT)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: acknowledged at once, then handled like the text of its payload."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        await self._handle_text(update, context, query.data or "")

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, stickers, voice, files: ask for text instead."""
        assert update.effective_message is not None
        await update.effective_message.reply_text(NOT_TEXT)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One central error handler: log (masked) and tell the person, never go silent."""
        log.error("telegram handler failed: %s", mask(str(context.error)), exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, "抱歉，出了点问题，请稍后再试，或拨打热线。")
            except Exception:  # the error handler must not raise
                log.exception("could not send the error message")

    def build(self, token: str, base_url: str | None = None, max_retries: int = 3) -> Application:
        builder = Application.builder().token(token).rate_limiter(AIORateLimiter(max_retries=max_retries))
        if base_url:
            builder = builder.base_url(base_url.rstrip("/") + "/bot").base_file_url(base_url.rstrip("/") + "/file/bot")
        application = builder.build()
        application.add_handler(CommandHandler("start", self.on_start))
        application.add_handler(CommandHandler("help", self.on_help))
        application.add_handler(CommandHandler("cancel", self.on_cancel))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        application.add_handler(MessageHandler(~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, self.on_other))
        application.add_error_handler(self.on_error)
        return application


async def start_polling(application: Application) -> None:
    """Start inside a running event loop (the app's), as PTB's starlettebot example does for webhooks."""
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=10)


async def stop_polling(application: Application) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
