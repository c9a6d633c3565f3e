"""The framework's ceiling on this machine: one FastAPI endpoint returning a constant."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/constant")
def constant() -> dict[str, str]:
    return {"hello": "乡村好物"}
