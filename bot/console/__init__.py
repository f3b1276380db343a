"""Staff console of Front Door: the queue, the ticket page, analytics, hot topics, the catalogue editor.

Served by the app under `/console` (see `routes.py`). Who may do what:

| role | may |
|---|---|
| agent (坐席) | see the queue and tickets of their own desks; claim an unassigned ticket; reply; add notes; change status and category; transfer a ticket they hold; reveal a transcript or contact with a reason (audited); record follow-up outcomes |
| supervisor (班长) | everything an agent may, plus assign or take over any ticket of their desks, analytics and hot topics, edit the catalogue and FAQ of their desks |
| admin (管理员) | everything a supervisor may, plus staff accounts (roles, desks, passwords), the staff audit log, and export or erasure of a person's data on request (audited; bot/console/personal_data.py) |

Desks bound every role: a ticket of another desk answers 404, like a ticket that does not exist.
The first admin: `python -m bot.console create-admin --username X --desk 12345 --desk 12355`.
Signing in (auth.py, account.py, throttle.py, mfa.py): password, then the TOTP code for accounts
with MFA; a password an admin set is replaced at the first login; supervisors and admins set up MFA
at their next login while FRONTDOOR_CONSOLE_REQUIRE_MFA is on (the default).
"""
