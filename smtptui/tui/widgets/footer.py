"""The footer: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

__all__ = ["KeysFooter"]


class KeysFooter(Footer):
    """Textual's Footer rebuilds itself (a dozen key widgets mounted and styled) on every
    bindings signal -- each focus change, each widget mounting -- even when the keys it
    shows are the same: five rebuilds before the first frame at start-up. This one
    rebuilds when what it would show differs."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_rebuild:
            shown = tuple((key, binding.action, binding.description, binding.show, enabled,
                           tooltip)
                          for key, (_node, binding, enabled, tooltip)
                          in screen.active_bindings.items())
            if shown == self._shown:
                self._bindings_ready = True
                return
            first = self._shown is None
            self._shown = shown
            if first:
                # The first keys are mounted now, not after the next refresh (Textual's
                # way): the first frame has them, and the screen is not laid out and
                # rendered a second time just for the footer.
                self._bindings_ready = True
                self.call_later(self.recompose)
                return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        # A FooterKey starts compact (its reactive's default) and is then bound to the
        # footer's ``compact`` (False here): two restyles of every key, each time the keys
        # are built, for a class it ends up without. Starting each bound key with the
        # footer's value costs neither; what is shown is the same. (The command palette's
        # key is not bound: Textual leaves it compact, and so does this.)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget
