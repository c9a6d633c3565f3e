from farmgate.verifier.commands import app

app()
