-- A member's own language (`mydata language es`): '' means none chosen, so the member gets the
-- language of their client when the platform says it and Alongside has it, else the community's.
-- client_language is that client language as last seen (Discord's interaction locale, already
-- narrowed to a locale Alongside has, or '' for one it has not), so messages sent later (a
-- check-in, a notice) reach the member in it too. Both are the member's own data: exported by
-- `mydata export`, erased with the member row by `mydata forget`.
ALTER TABLE members ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN client_language TEXT NOT NULL DEFAULT '';
