"""What the engine itself says, in each language it speaks (the lessons bring their own
narration). Placeholders are ``str.format`` fields filled with our own values only."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ENGINE_LANGUAGES = ("en", "ja")

_EN: Mapping[str, str] = {
    "ok": "Right: {line}",
    "right_idea": "Right idea, and it will be accepted; the lesson writes it: {expected}",
    "grammar": "Not sent: {message} ({rule}, column {column})",
    "grammar_warning": "Accepted, with a remark: {message} ({rule})",
    "wrong_verb": "Not sent: this step wants a {verb} command, not {got}.",
    "wrong_argument": "Not sent: right command ({verb}), but not what this step asks for. "
                      "Expected something like: {expected}",
    "wrong_reply": "Not sent: the remote expects a reply with code {code} here, not {got}.",
    "not_a_reply": "Not sent: after TURN you are the receiver; answer with a reply "
                   "'NNN text' (e.g. {expected}).",
    "wait": "Nothing to type yet: the server speaks first.",
    "wait_remote": "Nothing to type yet: wait for the remote's command.",
    "finished": "The lesson is over.",
    "data_line": "Message line {n}.",
    "data_end": "End of the message: '.' alone on a line.",
    "met": "As expected: {got}",
    "missed": "The server answered {got}; the lesson expected {expected}.",
    "hint_auto": "This step uses the {verb} command.",
    "hint_data": "Type the message lines, then a line holding only '.'.",
    "hint_reply": "Answer as the receiver: a reply starting with {code}.",
    "hint_wait": "Wait: the server speaks first.",
    "reveal": "Type: {answer}",
    "task_wait": "Watch the server.",
    "task_command": "Type a command.",
    "task_data": "Type the message, then '.' alone on a line.",
    "task_reply": "You are the receiver now: type your reply.",
    "progress": "Step {n} of {m}",
}

_JA: Mapping[str, str] = {
    "ok": "正解です: {line}",
    "right_idea": "考え方は合っていて、このまま受け付けられます。レッスンでの書き方: {expected}",
    "grammar": "送信しませんでした: {message}（{rule}、{column} 文字目）",
    "grammar_warning": "受け付けますが、注意点があります: {message}（{rule}）",
    "wrong_verb": "送信しませんでした: このステップで使うのは {verb} コマンドで、{got} ではありません。",
    "wrong_argument": "送信しませんでした: コマンド（{verb}）は合っていますが、引数がこのステップの"
                      "求めるものと違います。例: {expected}",
    "wrong_reply": "送信しませんでした: 相手はここで {code} の応答を待っています（{got} ではなく）。",
    "not_a_reply": "送信しませんでした: TURN の後はあなたが受信者SMTPです。"
                   "「NNN テキスト」の形で応答してください（例: {expected}）。",
    "wait": "まだ入力はいりません。先にサーバが話します。",
    "wait_remote": "まだ入力はいりません。相手のコマンドを待ってください。",
    "finished": "レッスンは終わりました。",
    "data_line": "本文の {n} 行目。",
    "data_end": "本文の終わり: 「.」だけの行。",
    "met": "期待どおりの応答です: {got}",
    "missed": "サーバの応答は {got} でした。レッスンが期待していたのは {expected} です。",
    "hint_auto": "このステップでは {verb} コマンドを使います。",
    "hint_data": "本文の行を入力し、最後に「.」だけの行を送ってください。",
    "hint_reply": "受信者として、{code} で始まる応答を返してください。",
    "hint_wait": "待ってください。先にサーバが話します。",
    "reveal": "入力: {answer}",
    "task_wait": "サーバの動きを見てください。",
    "task_command": "コマンドを入力してください。",
    "task_data": "本文を入力し、最後に「.」だけの行を入力してください。",
    "task_reply": "今はあなたが受信者です。応答を入力してください。",
    "progress": "ステップ {n} / {m}",
}

MESSAGES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"en": MappingProxyType(dict(_EN)), "ja": MappingProxyType(dict(_JA))})


def say(lang: str, key: str, **values: object) -> str:
    """The engine's message ``key`` in ``lang`` (English when the engine does not speak
    ``lang``; the lesson's own texts may still be in that language)."""
    table = MESSAGES.get(lang, MESSAGES["en"])
    return table[key].format(**values)
