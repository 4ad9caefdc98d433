//! What the web app's pages show, computed without IO, HTTP or templates: numbers and dates
//! as the pages write them and the traffic light of a waiting approval ([`view`]), and the
//! geometry of the SVG line charts ([`chart`]) and of the pilot page's stage timeline
//! ([`timeline`]), which `pilot-web`'s askama templates write out. Kept apart from `pilot-web`
//! so the layout math is tested on its own and the web crate stays about its pages.

pub mod chart;
pub mod timeline;
pub mod view;
