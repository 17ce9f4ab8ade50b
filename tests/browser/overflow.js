// Elements whose text overflows their box, or that stick out of the window.
() => {
      const out = [];
      const W = window.innerWidth;
      for (const e of document.querySelectorAll('body *')) {
        const cs = getComputedStyle(e);
        if (cs.display === 'none' || cs.visibility === 'hidden' || e.closest('[hidden]')) continue;
        if (e.classList.contains('sr-only') || e.tagName === 'SCRIPT') continue;
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        const label = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
          (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '');
        if (cs.display !== 'inline' && e.scrollWidth > e.clientWidth + 1 && cs.overflowX !== 'auto'
            && cs.overflowX !== 'scroll' && !['INPUT', 'IMG', 'SVG'].includes(e.tagName))
          out.push(label + ' overflows its box: ' + e.scrollWidth + ' > ' + e.clientWidth);
        if (r.right > W + 1 || r.left < -1)
          out.push(label + ' sticks out of the window: ' + Math.round(r.left) + '..' + Math.round(r.right));
      }
      return out;
    }
