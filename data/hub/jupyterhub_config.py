"""A JupyterHub for one class, on this machine only: the example the README's teacher page uses.

    make hub-deps     # once: configurable-http-proxy from npm, into .venv/hub-node
    KIT_HUB_DIR=/tmp/kit-hub .venv/bin/jupyterhub -f data/hub/jupyterhub_config.py
    # then open http://127.0.0.1:8000 and log in as alice (any password), or as teacher

tests/browser/test_hub_classroom_browser.py runs exactly this file, on free ports (KIT_HUB_PORT,
KIT_HUB_API_PORT, KIT_PROXY_API_PORT), with three students in Chromium.

What it sets up, for a rehearsal on a laptop or a test (never for real students as it is):
- everything on 127.0.0.1 (the hub, its proxy, every student's server): nothing reaches the
  network, and a student reaches a port on the host only as /user/NAME/proxy/PORT/ through
  jupyter-server-proxy, behind the hub's login;
- the *dummy* authenticator (any password works) and the *simple* spawner (each student's server
  is a local process of the hub's own user, with a home under KIT_HUB_DIR): no system accounts;
- students alice, bob, carol in a group, and a teacher whose *named server* "demo" runs
  `make demo`; a role lets the students open that one server, nothing else of the teacher's.
  It opens the whole server (its JupyterLab and terminal too, not only the demo page), so keep
  nothing else in it. On a real hub, put your students' and your own hub user names here.

For a real class, change these, in words:
- The Littlest JupyterHub (one VM, up to ~100 users): install it with its bootstrap script and
  check that its user environment has Python 3.11+ (`python -V` in a terminal: TLJH keeps an older
  environment's Python). Clone the kit where every user can read it (e.g. under /opt, not in a
  home: TLJH makes homes private, and requirements.txt installs the kit editable from its folder),
  and in that folder `sudo -E pip install -r requirements.txt` into the user environment, before
  the students start their servers (a server loads jupyter-server-proxy when it starts). Named
  servers do not work there: its systemd spawner names every server of a user `jupyter-USER`, so
  starting a second one stops the first (jupyterhub/systemdspawner issue 73). Run the demo as a
  user of its own instead: add `demo` on the Admin page (Add Users; not an admin), Start Server
  and Access Server there, and put the `load_groups` line below and the role, its scope changed to
  `access:servers!user=demo`, into a file under /opt/tljh/config/jupyterhub_config.d/, then
  `sudo tljh-config reload hub`. TLJH brings its own authenticator (choose a real one: GitHub, your
  school's OAuth, or its first-use authenticator), its systemd spawner and Traefik (HTTPS:
  `tljh-config set https.enabled true`).
- Zero to JupyterHub (Kubernetes): build a user image `FROM quay.io/jupyter/minimal-notebook`
  that copies the kit to a folder of its own (e.g. /opt/kit) and runs `pip install -r
  requirements.txt` there (jupyter-server-proxy is in it), set it as `singleuser.image`, and
  set `singleuser.cpu` / `singleuser.memory` from what one student's server used in your
  rehearsal (the kit has not measured it). In values.yaml: `hub.allowNamedServers: true`, the
  role under `hub.loadRoles`, the group under `hub.config.JupyterHub.load_groups`. Its
  KubeSpawner (a pod per server, so the demo server gets a pod of its own) and
  configurable-http-proxy replace the simple spawner here; the authenticator is your choice.
- Either way: HTTPS, a real authenticator, and a cookie secret and database that survive a
  restart. Nothing in this file is safe on a network.
"""

import os
import shutil
import socket
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- JupyterHub provides get_config() when it loads this file

STATE = Path(os.environ.get("KIT_HUB_DIR", "/tmp/kit-hub"))
STATE.mkdir(parents=True, exist_ok=True)
VENV_BIN = Path(sys.executable).parent  # the kit's .venv: jupyterhub-singleuser and the lessons

# --- one machine, loopback only --------------------------------------------------------------
# Three ports, all on 127.0.0.1: the one students open (the proxy's), the hub's own API, and the
# proxy's API. The defaults are 8000, 8081 and 8001; the kit's test sets free ones.
PORTS = {
    "KIT_HUB_PORT": int(os.environ.get("KIT_HUB_PORT", "8000")),
    "KIT_HUB_API_PORT": int(os.environ.get("KIT_HUB_API_PORT", "8081")),
    "KIT_PROXY_API_PORT": int(os.environ.get("KIT_PROXY_API_PORT", "8001")),
}
# A port already taken is checked here: configurable-http-proxy only logs EADDRINUSE and keeps
# running, and the hub then announces itself on a port that answers for someone else.
for variable, port in PORTS.items():
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as node: TIME_WAIT is free
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            sys.exit(
                f"Port {port} on 127.0.0.1 is taken ({exc.strerror}): another hub or server has "
                f"it. Stop that one, or set {variable} to a free port."
            )
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORTS['KIT_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{PORTS['KIT_HUB_API_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORTS['KIT_PROXY_API_PORT']}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

# configurable-http-proxy comes from npm: `make hub-deps` puts it in .venv/hub-node.
KIT_CHP = VENV_BIN.parent / "hub-node" / "node_modules" / ".bin" / "configurable-http-proxy"
chp = os.environ.get("KIT_CHP") or shutil.which("configurable-http-proxy")
chp = chp or (str(KIT_CHP) if KIT_CHP.exists() else "")
if not os.access(chp, os.X_OK):
    sys.exit(
        f"configurable-http-proxy not found{f' at {chp}' if chp else ''} (JupyterHub's proxy, "
        "from npm): run `make hub-deps`, or "
        "`npm install --prefix .venv/hub-node configurable-http-proxy@5`, or set KIT_CHP to it."
    )
c.ConfigurableHTTPProxy.command = [chp]

# --- who logs in: for a rehearsal only (any password is accepted) ----------------------------
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"teacher"}

# --- each student's server: a local process running the kit's .venv --------------------------
c.JupyterHub.spawner_class = "simple"  # no system users; every server runs as the hub's user
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"KIT_BACKEND": "local"}  # offline lessons, whatever keys are around
c.Spawner.start_timeout = 120  # 30 servers starting at once on a small VM are slow
c.Spawner.http_timeout = 120

# --- the teacher's demo, viewed by the students through the hub ------------------------------
# The teacher starts a second, *named* server called "demo" (Hub home page -> Named Servers ->
# type "demo" -> Add New Server) and runs `make -C <the kit's folder> demo` in its terminal (a
# terminal's login shell does not have the .venv on its PATH); it prints
# /user/teacher/demo/proxy/PORT/demo. The role
# below lets students open exactly that server, behind their own hub login: no port is opened
# to the network, and the teacher's main server (notebooks, files) stays private.
c.JupyterHub.allow_named_servers = True
c.JupyterHub.load_groups = {"students": {"users": ["alice", "bob", "carol"]}}
c.JupyterHub.load_roles = [
    {
        "name": "view-the-teachers-demo",
        "description": "Open the teacher's 'demo' server, where the classroom demo runs",
        "scopes": ["access:servers!server=teacher/demo"],
        "groups": ["students"],
    }
]
