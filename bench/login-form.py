#!/usr/bin/env python3
"""What a browser would post from the panel's login page, for bench/run-panel.sh.

login-form.py FILE prints, one per line: the login form's action (empty: the page's own URL),
the name of its user field, of its password field, then name=value of every hidden input of
that form: the antiforgery token, and whatever else the form carries (Razor Components' forms
add _handler). The login form is the one with a password field; the HTML parser takes the
attributes in any order and decodes their entities. Exits 1 when there is no such form.
"""
import sys
from html.parser import HTMLParser


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.form = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = {"action": a.get("action") or "", "user": None, "password": None, "hidden": []}
            self.forms.append(self.form)
        elif tag == "input" and self.form is not None and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind == "hidden":
                self.form["hidden"].append((a["name"], a.get("value") or ""))
            elif kind == "password":
                self.form["password"] = a["name"]
            elif kind in ("text", "email") and self.form["user"] is None:
                self.form["user"] = a["name"]

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


parser = Forms()
with open(sys.argv[1], encoding="utf-8") as page:
    parser.feed(page.read())
form = next((f for f in parser.forms if f["password"] and f["user"]), None)
if form is None:
    sys.exit("no form with a user and a password field")
print(form["action"])
print(form["user"])
print(form["password"])
for name, value in form["hidden"]:
    print(f"{name}={value}")
