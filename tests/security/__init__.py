"""Security tests (issue 18): what an attacker would try, refused."""
