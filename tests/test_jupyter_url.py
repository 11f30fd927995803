"""helpers.jupyter_url: which URL a student's browser can open, from the environment alone.

The environments are the ones Jupyter really sets: a JupyterHub single-user server gives its
kernels and terminals JUPYTERHUB_SERVICE_PREFIX (and JUPYTERHUB_PUBLIC_HUB_URL when the hub
has a public URL); a JupyterLab terminal gets JUPYTER_SERVER_URL; a kernel gets JPY_PARENT_PID,
the pid of the server that started it (or of nbconvert/nbval, which are not servers).
The server list has the keys of jupyter_server's list_running_servers().
"""

from __future__ import annotations

import pytest

from helpers.jupyter_url import (
    JupyterServer,
    NotInJupyter,
    find_jupyter,
    jupyter_proxy_url,
    open_url,
    proxied_url,
)

SERVER = {
    "pid": 4242,
    "url": "http://127.0.0.1:8888/user/alice/",
    "base_url": "/user/alice/",
    "port": 8888,
    "hostname": "127.0.0.1",
    "token": "secret-token",
}
OTHER = {**SERVER, "pid": 77, "url": "http://127.0.0.1:9999/", "base_url": "/", "port": 9999}


def test_outside_jupyter_the_url_is_todays() -> None:
    assert find_jupyter({}, [SERVER]) is None
    assert open_url(8765, "/demo", find_jupyter({}, [SERVER])) == "http://127.0.0.1:8765/demo"


def test_a_hub_without_a_public_url_gives_a_path_under_the_users_prefix() -> None:
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JPY_PARENT_PID": "1"}
    assert find_jupyter(env, []) == JupyterServer("/user/alice/", "", "JupyterHub")
    assert open_url(41234, "/demo", find_jupyter(env, [])) == "/user/alice/proxy/41234/demo"


def test_a_hub_with_a_public_url_gives_a_whole_url() -> None:
    env = {
        "JUPYTERHUB_SERVICE_PREFIX": "/user/bob",  # no trailing slash: still one slash
        "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/",
    }
    url = open_url(5000, "demo", find_jupyter(env, []))
    assert url == "https://hub.example.org/user/bob/proxy/5000/demo"


def test_a_user_subdomain_wins_over_the_hubs_address() -> None:
    env = {
        "JUPYTERHUB_SERVICE_PREFIX": "/user/carol/",
        "JUPYTERHUB_PUBLIC_URL": "https://carol.hub.example.org/user/carol/",
        "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/",
    }
    assert (
        open_url(5, "/demo", find_jupyter(env, []))
        == "https://carol.hub.example.org/user/carol/proxy/5/demo"
    )


def test_a_kernel_finds_the_server_that_started_it_and_never_prints_its_token() -> None:
    env = {"JPY_PARENT_PID": "4242"}
    url = open_url(7000, "/demo", find_jupyter(env, [OTHER, SERVER]))
    assert url == "http://127.0.0.1:8888/user/alice/proxy/7000/demo"
    assert "secret-token" not in url


def test_a_kernel_started_by_nbconvert_is_not_in_jupyter() -> None:
    # JPY_PARENT_PID is set, but no running server has that pid: the lesson prints today's URL.
    env = {"JPY_PARENT_PID": "31337"}
    assert find_jupyter(env, [OTHER, SERVER]) is None
    assert (
        open_url(7000, "/demo", find_jupyter(env, [OTHER, SERVER])) == "http://127.0.0.1:7000/demo"
    )


def test_a_jupyterlab_terminal_uses_its_server_url() -> None:
    env = {"JUPYTER_SERVER_URL": "http://localhost:8888/lab-prefix/"}
    server = find_jupyter(env, [])
    assert server == JupyterServer("/lab-prefix/", "http://localhost:8888", "Jupyter server")
    assert proxied_url(server, 1234, "/demo?drop=7") == (
        "http://localhost:8888/lab-prefix/proxy/1234/demo?drop=7"
    )


def test_the_root_base_url_has_one_slash() -> None:
    env = {"JUPYTER_SERVER_URL": "http://127.0.0.1:8888/"}
    assert open_url(1, "/demo", find_jupyter(env, [])) == "http://127.0.0.1:8888/proxy/1/demo"


def test_asking_for_a_proxy_url_outside_jupyter_says_what_to_open_instead() -> None:
    with pytest.raises(NotInJupyter) as caught:
        jupyter_proxy_url(8765, "/demo", find_jupyter({"JPY_PARENT_PID": "31337"}, [SERVER]))
    message = str(caught.value)
    assert "Not running inside a Jupyter server" in message
    assert "open http://127.0.0.1:8765/demo instead" in message
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}
    assert jupyter_proxy_url(8765, "/demo", find_jupyter(env, [])) == "/user/alice/proxy/8765/demo"
