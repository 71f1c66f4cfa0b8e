"""Events: demo days, investor days and mentoring days where startups meet mentors, investors
and programs in short one-to-one meetings.

- `model`: the Event and Participant contracts; `validation`: checking an import file (every
  bad row, in Persian); `participant_files`: the participant list as CSV/XLSX;
- `suggest`: who should meet (fit of profiles, with reasons);
- `problem` -> `solver` -> `result`: the exact meeting schedule (encoder, MILP, tables and
  figures); `outputs`, `workbook`, `calendar`: its files.
"""

from __future__ import annotations

from recommender.events.model import Event, EventData, Participant, Slot

__all__ = ["Event", "EventData", "Participant", "Slot"]
