"""What a session file says about its checkpoints: the turns, the tree states skipjack saw,
and the undo/redo stack.

Checkpoints are `event` entries of the session format (no new entry type, so no migration
and older readers keep loading the file), written by `Checkpointer`:

- `checkpoint` `{"tree", "skipped"}`: the working tree just before a user turn was sent; the
  next user message entry is that turn's prompt. Or `checkpoint` `{"snapshot": "pending"}`
  there, and the tree in a later `checkpoint_tree` `{"checkpoint": id, "tree", "skipped"}`
  (the snapshot is taken while the turn's first request is out: `checkpoints.before_turn`);
  the pair means what the one entry means, and a pending one never given its tree is no
  checkpoint (the turn is left out).
- `checkpoint_end` `{"checkpoint", "tree"}`: the tree when that turn's run ended.
- `restore` `{"kind": "rewind"|"undo"|"redo", "turn", "before", "tree"}`: skipjack changed the
  files: `before` is the tree it found, `tree` the one it left.

A fork (`SessionStore.fork`) copies these entries with the history, so a forked or resumed
session keeps its checkpoints.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from skipjack.checkpoints.entry_kinds import CHECKPOINT as CHECKPOINT
from skipjack.checkpoints.entry_kinds import CHECKPOINT_END as CHECKPOINT_END
from skipjack.checkpoints.entry_kinds import CHECKPOINT_TREE as CHECKPOINT_TREE
from skipjack.checkpoints.entry_kinds import PENDING as PENDING
from skipjack.checkpoints.entry_kinds import RESTORE as RESTORE
from skipjack.llm.types import UserMessage
from skipjack.sessions.format import Entry, EventEntry, MessageEntry
from skipjack.sessions.session import content_text

StateKind = Literal["start", "end", "seen", "restored"]


@dataclass(frozen=True)
class Turn:
    """A turn that has a checkpoint."""

    number: int
    """1-based, in the order of the session file."""
    checkpoint_id: str
    """The `checkpoint` entry's id; a conversation rewind forks the session there."""
    ts: int
    tree: str
    prompt: str
    end_tree: str | None = None


@dataclass(frozen=True)
class State:
    """A tree skipjack saw, in file order."""

    kind: StateKind
    tree: str
    position: int


@dataclass(frozen=True)
class UndoRecord:
    """An undo, for the redo that reverses it."""

    turn: int
    before: str
    """The tree the undo found, which a redo writes back."""
    position: int
    """Where the undo's entry is in the file."""


@dataclass
class Timeline:
    """A session's checkpoints, states and undos, read from its entries."""

    turns: list[Turn] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    undo_stack: list[UndoRecord] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    """Where each checkpoint entry is in the file."""

    def turn(self, number: int) -> Turn:
        if not self.turns:
            raise LookupError("this session has no checkpoints yet")
        if not 1 <= number <= len(self.turns):
            raise LookupError(f"there is no turn {number}: this session has turns 1 to {len(self.turns)}")
        return self.turns[number - 1]

    def hand_intervals(self, start: int) -> list[tuple[str, str]]:
        """(before, after) tree pairs, from file position `start` on, in which nobody skipjack
        knows of changed the files: not a turn's run (`start`→`end`), not a restore (→`restored`).
        What changed in them was changed by hand (or by another program)."""
        later = [s for s in self.states if s.position >= start]
        out: list[tuple[str, str]] = []
        for prev, cur in itertools.pairwise(later):
            ours = (prev.kind == "start" and cur.kind == "end") or cur.kind == "restored"
            if not ours and prev.tree != cur.tree:
                out.append((prev.tree, cur.tree))
        return out

    @property
    def last_tree(self) -> str | None:
        return self.states[-1].tree if self.states else None


def read_timeline(entries: Sequence[Entry]) -> Timeline:
    timeline = Timeline()
    pending: EventEntry | None = None
    ends: dict[str, str] = {}
    trees: dict[str, str] = {}
    """Checkpoint id -> its tree (from the entry itself or its `checkpoint_tree`)."""
    deferred: dict[str, int] = {}
    """Pending checkpoints (id -> position) waiting for their `checkpoint_tree`."""
    for position, entry in enumerate(entries):
        if isinstance(entry, EventEntry):
            data = entry.data
            tree = data.get("tree")
            if entry.name == CHECKPOINT and not isinstance(tree, str) and data.get("snapshot") == PENDING:
                pending = entry
                timeline.positions[entry.id] = position
                deferred[entry.id] = position
                timeline.undo_stack.clear()
                continue
            if not isinstance(tree, str):
                continue
            if entry.name == CHECKPOINT:
                pending = entry
                trees[entry.id] = tree
                timeline.positions[entry.id] = position
                timeline.states.append(State("start", tree, position))
                timeline.undo_stack.clear()
            elif entry.name == CHECKPOINT_TREE:
                checkpoint = data.get("checkpoint")
                if isinstance(checkpoint, str) and checkpoint in deferred and checkpoint not in trees:
                    trees[checkpoint] = tree
                    # The tree is the files as the turn began: its state sits where the turn begins.
                    timeline.states.append(State("start", tree, deferred[checkpoint]))
            elif entry.name == CHECKPOINT_END:
                checkpoint = data.get("checkpoint")
                if isinstance(checkpoint, str):
                    ends[checkpoint] = tree
                timeline.states.append(State("end", tree, position))
            elif entry.name == RESTORE:
                before = data.get("before")
                if isinstance(before, str):
                    timeline.states.append(State("seen", before, position))
                timeline.states.append(State("restored", tree, position))
                kind, turn = data.get("kind"), data.get("turn")
                if kind == "undo" and isinstance(before, str) and isinstance(turn, int):
                    timeline.undo_stack.append(UndoRecord(turn, before, position))
                elif kind == "redo" and timeline.undo_stack:
                    timeline.undo_stack.pop()
                elif kind == "rewind":
                    timeline.undo_stack.clear()
        elif isinstance(entry, MessageEntry) and isinstance(entry.message, UserMessage) and pending is not None:
            timeline.turns.append(
                Turn(len(timeline.turns) + 1, pending.id, pending.ts, "", content_text(entry.message.content))
            )
            pending = None
    # A deferred tree's state was appended late: put it back in file order (stable, so the
    # two states of one restore keep theirs).
    timeline.states.sort(key=lambda s: s.position)
    known = [t for t in timeline.turns if t.checkpoint_id in trees]
    timeline.turns = [
        Turn(i, t.checkpoint_id, t.ts, trees[t.checkpoint_id], t.prompt, ends.get(t.checkpoint_id))
        for i, t in enumerate(known, start=1)
    ]
    return timeline
