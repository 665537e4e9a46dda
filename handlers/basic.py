"""/start and /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import Request, Response
from handlers.registry import COMMANDS, command, load_all

if TYPE_CHECKING:
    from bot.services import Services

GROUP_ORDER = ("Reading", "Replies", "Subscriptions", "Settings", "Admin")


@command("start", "/start", "Introduce the bot and how to begin", group="Reading")
async def start(request: Request, services: Services) -> Response:
    count = len(await services.store.list_sources())
    return Response.text(
        "commentary-bot follows opinion writing and posts short, faithful summaries here.\n"
        f"I follow {count} source(s). Try /latest for the newest pieces, /sources to see what "
        "I follow, /subscribe <source> to get new pieces here, and /help for every command."
    )


@command("help", "/help [command]", "List the commands, or explain one", group="Reading")
async def help_(request: Request, services: Services) -> Response:
    specs = load_all()
    wanted = request.args.strip().lstrip("/").lower()
    if wanted:
        spec = COMMANDS.get(wanted)
        if spec is None:
            return Response.error(f"No command /{wanted[:40]}. Send /help for the list.")
        return Response.text(f"{spec.usage}\n{spec.description}")
    is_owner = services.is_owner(request.user_key)
    lines: list[str] = []
    for group in GROUP_ORDER:
        entries = [s for s in specs.values() if s.group == group]
        if group == "Admin" and not is_owner:
            continue
        if not entries:
            continue
        lines.append("Owners:" if group == "Admin" else f"{group}:")
        lines.extend(f"  {s.usage} — {s.description}" for s in entries)
    lines.append(
        "Reply to one of my posts with /more, /full, /quote, /author, /similar or /source."
    )
    return Response.text("\n".join(lines), kind="long")
