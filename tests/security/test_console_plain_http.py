"""The console refuses to send its token over plain http:// to another machine unless its
configuration says so in words."""

from __future__ import annotations

import pytest

from console.config import PLAIN_HTTP_CONSENT, ConfigError, load_config


def _config(tmp_path, server: str):
    path = tmp_path / "config.toml"
    path.write_text("[server]\n" + server)
    return load_config(path)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8470", "http://skranke.kommune.dk"])
def test_plain_http_to_another_host_is_refused(tmp_path, url):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, f'url = "{url}"\n')
    assert "unencrypted" in str(err.value) and "https://" in str(err.value)
    with pytest.raises(ConfigError):
        _config(tmp_path, f'url = "{url}"\nplain_http = "yes"\n')


@pytest.mark.parametrize("url", ["http://127.0.0.1:8470", "http://localhost:8470",
                                 "http://[::1]:8470", "https://skranke.kommune.dk"])
def test_loopback_and_https_need_no_consent(tmp_path, url):
    assert _config(tmp_path, f'url = "{url}"\n').server.url == url


def test_the_consent_in_words_allows_it(tmp_path):
    cfg = _config(tmp_path, f'url = "http://10.0.0.5:8470"\nplain_http = "{PLAIN_HTTP_CONSENT}"\n')
    assert cfg.server.url == "http://10.0.0.5:8470"
